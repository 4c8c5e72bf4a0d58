// Polling for state that raises no event (another process's output, a simulator seen over HTTP): checked every
// `everyMs` until true, failing with what it waited for. A wait, never an assertion on time.

export async function until(
  what: string | (() => string),
  pred: () => boolean | Promise<boolean>,
  ms = 20_000,
  everyMs = 50,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
