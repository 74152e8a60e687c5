import * as pulumi from "@pulumi/pulumi";

/** How a component's initialization ended. */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Outcomes by the component's `urn` Output (what `ComponentProvider.construct` returns), for the provider to check. */
const outcomes = new WeakMap<object, Promise<Outcome<unknown>>>();

let providerHosted = false;

/** Called by the package's provider: it reports initialization errors itself (see {@link initializationError}). */
export function markProviderHosted(): void {
  providerHosted = true;
}

/**
 * The component's initialization data, `undefined` when initialization failed, as a promise that never rejects
 * (so the component's outputs leave no unhandled rejections behind). The failure goes to the package's provider,
 * which fails the Construct call with it; used directly from a TypeScript program, the failure is rethrown and fails
 * the program like any unhandled error.
 */
export function trackInitialization<T>(component: pulumi.ComponentResource, data: Promise<T>): Promise<T | undefined> {
  const outcome = data.then((value): Outcome<T> => ({ ok: true, value }), (error: unknown): Outcome<T> => ({ ok: false, error }));
  outcomes.set(component.urn, outcome);
  if (!providerHosted) {
    void outcome.then((o) => {
      if (!o.ok) throw o.error;
    });
  }
  return outcome.then((o) => (o.ok ? o.value : undefined));
}

/** The error a component's initialization failed with (`undefined` when it succeeded or is not a package component). */
export async function initializationError(urn: pulumi.Input<string>): Promise<unknown> {
  const outcome = typeof urn === "object" ? await outcomes.get(urn) : undefined;
  return outcome && !outcome.ok ? outcome.error : undefined;
}
