/** The one error the worker's parts throw on purpose: a stable code the widget turns into kind words. */

export class Refusal extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}
