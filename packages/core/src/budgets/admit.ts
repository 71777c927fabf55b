import { getContext } from '../context/context';
import { currentGenAiOwner } from '../genai/owner';

/**
 * Asks the budgets of the instance recording the call (when they enforce anything) whether an
 * LLM call may start, before the provider is called: returns `options` unchanged, or with the
 * cheaper `model` the budget chose, or throws `BudgetExceededError`. Without enforcing budgets
 * it costs one property read.
 */
export function admitLlmCall<O extends { model: string; provider?: string; feature?: string }>(options: O): O {
  const gate = currentGenAiOwner()?.genai.gate;
  if (gate === undefined) return options;
  const ctx = getContext();
  const feature = typeof options.feature === 'string' && options.feature.length > 0 ? options.feature : ctx?.feature;
  const model = gate(feature, ctx?.userId, options.model, options.provider);
  return model === options.model ? options : { ...options, model };
}
