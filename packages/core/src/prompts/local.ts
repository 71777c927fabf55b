import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { configError } from '../config/validate';
import { isChatItem, makePrompt, type ChatMessage, type ChatPlaceholder, type Prompt, type PromptData } from './prompt';

/** The label `getPrompt(name)` picks when neither a version nor a label is asked. */
export const PRODUCTION = 'production';
/** The label every prompt's newest version gets, as in Langfuse. */
export const LATEST = 'latest';
/** The file of a prompt folder that maps labels to versions. */
const LABELS_FILE = 'labels.json';
const TEXT_EXTENSIONS = ['.txt', '.md'];

/** What a selection asks for: a version, else a label, else `production`. */
export interface PromptSelection {
  version?: string;
  label?: string;
}

/** The versions of one prompt, with their labels. */
interface LocalPrompt {
  readonly versions: Map<string, Prompt>;
  /** Label → version. */
  readonly labels: Map<string, string>;
}

/** Orders versions as people number them: `v2` before `v10`, `2` before `10`. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * The local prompt source (the embedded default): prompts given in code and read from a folder
 * at start-up, versioned and labelled, held in memory. Getting one is a map lookup.
 */
export class LocalSource {
  private readonly prompts = new Map<string, LocalPrompt>();

  /** Builds the source; a bad prompt or folder throws a {@link LlmscopeConfigError} that says what to fix. */
  constructor(definitions: readonly (PromptData & { at: string })[], dir: string | undefined) {
    const raw = new Map<string, { data: Map<string, PromptData & { at: string }>; labelFile: Map<string, string> }>();
    const add = (d: PromptData & { at: string }): void => {
      let p = raw.get(d.name);
      if (p === undefined) raw.set(d.name, p = { data: new Map(), labelFile: new Map() });
      if (p.data.has(d.version)) configError(`${d.at}: prompt ${JSON.stringify(d.name)} has version ${JSON.stringify(d.version)} twice (also at ${(p.data.get(d.version) as { at: string }).at}).`);
      p.data.set(d.version, d);
    };
    for (const d of definitions) add(d);
    if (dir !== undefined) {
      for (const item of readFolder(dir)) {
        if ('labelFile' in item) {
          let p = raw.get(item.name);
          if (p === undefined) raw.set(item.name, p = { data: new Map(), labelFile: new Map() });
          for (const [label, version] of item.labelFile) p.labelFile.set(label, version);
        } else add(item);
      }
    }
    for (const [name, p] of raw) {
      if (p.data.size === 0) configError(`prompt folder ${JSON.stringify(name)} has a ${LABELS_FILE} but no version file (such as v1.txt or v1.json).`);
      const labels = new Map<string, string>();
      const put = (label: string, version: string, at: string): void => {
        const other = labels.get(label);
        if (other !== undefined && other !== version) configError(`${at}: label ${JSON.stringify(label)} of prompt ${JSON.stringify(name)} is on two versions, ${JSON.stringify(other)} and ${JSON.stringify(version)}; a label names one version.`);
        labels.set(label, version);
      };
      for (const d of p.data.values()) for (const l of d.labels ?? []) put(l, d.version, d.at);
      for (const [label, version] of p.labelFile) {
        if (!p.data.has(version)) configError(`${join(dir ?? '', name, LABELS_FILE)}: label ${JSON.stringify(label)} names version ${JSON.stringify(version)}, which prompt ${JSON.stringify(name)} does not have (it has ${[...p.data.keys()].join(', ')}).`);
        put(label, version, join(dir ?? '', name, LABELS_FILE));
      }
      const ordered = [...p.data.keys()].sort(compareVersions);
      const newest = ordered[ordered.length - 1] as string;
      if (!labels.has(LATEST)) labels.set(LATEST, newest);
      // With no `production` label the newest version serves: a prompt works with no labelling at all.
      if (!labels.has(PRODUCTION)) labels.set(PRODUCTION, newest);
      const byVersion = new Map<string, string[]>();
      for (const [label, version] of labels) (byVersion.get(version) ?? byVersion.set(version, []).get(version) as string[]).push(label);
      const versions = new Map<string, Prompt>();
      for (const version of ordered) {
        const d = p.data.get(version) as PromptData;
        versions.set(version, makePrompt({ ...d, labels: byVersion.get(version) ?? [] }, 'local'));
      }
      this.prompts.set(name, { versions, labels });
    }
  }

  /** Names of the prompts held. */
  names(): string[] {
    return [...this.prompts.keys()];
  }

  /** Whether the prompt has this version. */
  has(name: string, version: string): boolean {
    return this.prompts.get(name)?.versions.has(version) === true;
  }

  /** The versions of a prompt, oldest first (empty when unknown). */
  versions(name: string): string[] {
    return [...(this.prompts.get(name)?.versions.keys() ?? [])];
  }

  /** The version asked (a version, else a label, else `production`), or undefined. */
  get(name: string, selection: PromptSelection): Prompt | undefined {
    const p = this.prompts.get(name);
    if (p === undefined) return undefined;
    const version = selection.version ?? p.labels.get(selection.label ?? PRODUCTION);
    return version === undefined ? undefined : p.versions.get(version);
  }
}

type FolderItem = (PromptData & { at: string }) | { name: string; labelFile: Map<string, string> };

/** Reads `<dir>/<name>/<version>.txt|.md|.json` and `<dir>/<name>/labels.json`. */
function readFolder(dir: string): FolderItem[] {
  const root = resolve(dir);
  let names: string[];
  try {
    if (!statSync(root).isDirectory()) configError(`option \`prompts.dir\` must be a folder, got the file ${root}.`);
    names = readdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') configError(`option \`prompts.dir\`: the folder ${root} does not exist. Create it with one sub-folder per prompt (prompts/rag-answer/v1.txt), or remove the option.`);
    throw error;
  }
  const items: FolderItem[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const folder = join(root, name);
    if (!statSync(folder).isDirectory()) configError(`prompt folder ${root} must hold one sub-folder per prompt (${join(root, 'rag-answer', 'v1.txt')}); found the file ${folder}.`);
    for (const file of readdirSync(folder).sort()) {
      if (file.startsWith('.')) continue;
      const path = join(folder, file);
      const ext = extname(file).toLowerCase();
      const version = file.slice(0, file.length - ext.length);
      if (file === LABELS_FILE) items.push({ name, labelFile: readLabels(path) });
      else if (TEXT_EXTENSIONS.includes(ext) && version.length > 0) items.push({ name, version, prompt: readFileSync(path, 'utf8').replace(/\r?\n$/, ''), at: path });
      else if (ext === '.json' && version.length > 0) items.push(readJsonPrompt(path, name, version));
      else configError(`${path}: a prompt folder holds <version>.txt, <version>.md, <version>.json and ${LABELS_FILE} files only (such as v1.txt).`);
    }
  }
  return items;
}

function parseJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    configError(`${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}.`);
  }
}

function readLabels(path: string): Map<string, string> {
  const value = parseJson(path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configError(`${path} must map labels to versions, such as {"production": "v3", "staging": "v4"}.`);
  const labels = new Map<string, string>();
  for (const [label, version] of Object.entries(value as Record<string, unknown>)) {
    if (typeof version !== 'string' && typeof version !== 'number') configError(`${path}: label ${JSON.stringify(label)} must name a version (a string such as "v3"), got ${JSON.stringify(version)}.`);
    labels.set(label, String(version));
  }
  return labels;
}

const JSON_KEYS = ['type', 'prompt', 'config', 'labels'];

function readJsonPrompt(path: string, name: string, version: string): PromptData & { at: string } {
  const value = parseJson(path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) configError(`${path} must be an object such as {"prompt": "Answer {{question}}", "config": {"model": "gpt-4o-mini"}, "labels": ["production"]}.`);
  return { ...checkDefinition(path, value as Record<string, unknown>, JSON_KEYS), name, version, at: path };
}

/**
 * Checks the fields of one prompt version (from a JSON file or an option): a text or a list of
 * chat messages, an optional `type` that agrees, a `config` object and a `labels` string array.
 */
export function checkDefinition(at: string, d: Record<string, unknown>, keys: readonly string[]): Pick<PromptData, 'prompt' | 'type' | 'config' | 'labels'> {
  for (const key of Object.keys(d)) if (!keys.includes(key)) configError(`${at}: unknown field ${JSON.stringify(key)}; a prompt has ${keys.join(', ')}.`);
  const prompt = d.prompt;
  const isText = typeof prompt === 'string';
  const isChat = Array.isArray(prompt) && prompt.length > 0 && prompt.every(isChatItem);
  if (!isText && !isChat) configError(`${at}: \`prompt\` must be a text or a non-empty array of chat messages ({"role": "system", "content": "..."}), got ${JSON.stringify(prompt)?.slice(0, 80)}.`);
  const type = d.type;
  if (type !== undefined && type !== 'text' && type !== 'chat') configError(`${at}: \`type\` must be "text" or "chat", got ${JSON.stringify(type)}.`);
  if (type !== undefined && (type === 'text') !== isText) configError(`${at}: \`type\` is ${JSON.stringify(type)} but \`prompt\` is ${isText ? 'a text' : 'a list of chat messages'}.`);
  const config = d.config;
  if (config !== undefined && (config === null || typeof config !== 'object' || Array.isArray(config))) configError(`${at}: \`config\` must be an object such as {"model": "gpt-4o-mini", "temperature": 0.2}.`);
  const labels = d.labels;
  if (labels !== undefined && !(Array.isArray(labels) && labels.every((l) => typeof l === 'string' && l.length > 0))) configError(`${at}: \`labels\` must be an array of label names such as ["production"].`);
  return {
    prompt: isText ? prompt : (prompt as (ChatMessage | ChatPlaceholder)[]),
    type: isText ? 'text' : 'chat',
    config: config as Record<string, unknown> | undefined,
    labels: labels as string[] | undefined,
  };
}
