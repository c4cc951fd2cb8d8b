/** The standalone accuracy benches' one way to read an evaluation set that may not be made yet: its message (how to make it), exit code 2. */
export function readSetOrExit<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}
