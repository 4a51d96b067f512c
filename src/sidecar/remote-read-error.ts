/** The error every remote-read failure is reported as. */

/** Remote read failed; `status` is the HTTP status when Prometheus answered with one. */
export class RemoteReadError extends Error {
  override name = "RemoteReadError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
