/**
 * What a test file started and has not stopped yet (gateway apps, mostly). The test environment
 * (test/setup/environment.ts) stops whatever is still here when the file ends, so a file whose
 * `afterAll` failed half-way cannot leave queue workers and timers running into the next files,
 * nor keep the jest process alive after the run.
 */
export interface OpenResource {
  what: string;
  close(): Promise<void>;
}

export const OPEN_RESOURCES_KEY = '__gatewayTestOpenResources';

function registry(): Set<OpenResource> {
  const g = globalThis as unknown as Record<string, Set<OpenResource> | undefined>;
  return (g[OPEN_RESOURCES_KEY] ??= new Set<OpenResource>());
}

/** Records `resource` as open; the returned function records it closed. */
export function trackOpen(resource: OpenResource): () => void {
  registry().add(resource);
  return () => {
    registry().delete(resource);
  };
}
