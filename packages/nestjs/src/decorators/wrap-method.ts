import 'reflect-metadata';

/** A method as found on a class prototype. */
export type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Replaces a method by `wrap(original)` and keeps what other decorators stored on the original
 * function: Nest's `@Get()`, `@SetMetadata()`, `@UseGuards()`, ... put their metadata on the
 * function object itself, so a wrapper without it would no longer be a route. Metadata that
 * decorators applied later add goes to the wrapper, which is what they see, so the decorator
 * order does not matter.
 */
export function wrapMethod(descriptor: PropertyDescriptor, wrap: (original: Method) => Method): PropertyDescriptor {
  const original = descriptor.value as unknown;
  if (typeof original !== 'function') {
    throw new TypeError('llmscope: @TraceLLM(), @RagStep() and @PromptVersion() decorate methods only (not getters, setters or fields).');
  }
  const wrapper = wrap(original as Method);
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapper);
  }
  // Stack traces, Nest's logs and `Function.name` keep showing the method's own name.
  Object.defineProperty(wrapper, 'name', { value: (original as Method).name, configurable: true });
  descriptor.value = wrapper;
  return descriptor;
}

/** Applies `decorate` to every plain method of a class (for class-level decorators). */
export function wrapAllMethods(target: Function, decorate: (descriptor: PropertyDescriptor) => PropertyDescriptor): void {
  const proto = target.prototype as object;
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    if (descriptor === undefined || typeof descriptor.value !== 'function') continue;
    Object.defineProperty(proto, key, decorate(descriptor));
  }
}
