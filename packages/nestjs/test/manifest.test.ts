/**
 * What npm installs with @llmscope/nestjs, read from the manifests that get published. npm 7+
 * installs every peer dependency that is not marked optional, for every package in the tree: a
 * non-optional `express` peer of @llmscope/express would put Express 5 into a Nest 10 app on
 * Fastify (or next to its Express 4). An `npm install` of packed tarballs would show the same but
 * needs the registry; these fields are what npm decides it from.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const root = join(dirname(expect.getState().testPath as string), '..', '..', '..');
const read = <T>(path: string): T => JSON.parse(readFileSync(join(root, path), 'utf8')) as T;
const manifest = (name: string): Manifest => read(`packages/${name.replace('@llmscope/', '')}/package.json`);

/** The peers npm would install for an app depending on `name`: non-optional peers of every @llmscope package it pulls in. */
function requiredPeers(name: string, seen = new Set<string>()): Map<string, string> {
  const peers = new Map<string, string>();
  if (seen.has(name)) return peers;
  seen.add(name);
  const m = manifest(name);
  for (const [peer, range] of Object.entries(m.peerDependencies ?? {})) {
    if (m.peerDependenciesMeta?.[peer]?.optional !== true) peers.set(peer, range);
  }
  for (const dep of Object.keys(m.dependencies ?? {}).filter((d) => d.startsWith('@llmscope/'))) {
    for (const [peer, range] of requiredPeers(dep, seen)) peers.set(peer, range);
  }
  return peers;
}

test('installing @llmscope/nestjs makes npm install no web framework: only the Nest peers the app already has are required', () => {
  const peers = requiredPeers('@llmscope/nestjs');
  expect([...peers.keys()].sort()).toEqual(['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs']);
  // The platform adapters come in as dependencies; their framework is the app's.
  const nest = manifest('@llmscope/nestjs');
  expect(Object.keys(nest.dependencies ?? {})).toEqual(expect.arrayContaining(['@llmscope/express', '@llmscope/fastify']));
  expect(manifest('@llmscope/express').peerDependenciesMeta?.express?.optional).toBe(true);
  expect(manifest('@llmscope/fastify').peerDependenciesMeta?.fastify?.optional).toBe(true);
});

test('the Nest peer range is 10, 11 and 12, and each tested Nest install is in it', () => {
  const { peerDependencies } = manifest('@llmscope/nestjs');
  for (const peer of ['@nestjs/common', '@nestjs/core']) expect(peerDependencies?.[peer]).toBe('^10.0.0 || ^11.0.0 || ^12.0.0');
  // Nest 10 accepts reflect-metadata 0.1 too: a narrower peer would fail `npm install` in such an app.
  expect(peerDependencies?.['reflect-metadata']).toBe('^0.1.12 || ^0.2.0');
  const installed = ['test/compat/nest10/node_modules', 'test/compat/nest11/node_modules', 'node_modules'].map(
    (dir) => read<{ version: string }>(`${dir}/@nestjs/core/package.json`).version.split('.')[0],
  );
  expect(installed).toEqual(['10', '11', '12']);
});
