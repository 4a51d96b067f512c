/**
 * Errors of the Prometheus HTTP API: each carries the `errorType` and HTTP status Prometheus
 * uses for it, so handlers map any failure to the same response Prometheus would send.
 */

/** The error types of the API envelope. */
export type ApiErrorType = "bad_data" | "execution" | "timeout" | "canceled" | "internal" | "not_found" | "unavailable";

/** HTTP status per error type, as Prometheus' `respondError`. */
export const ERROR_STATUS: Readonly<Record<ApiErrorType, number>> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  canceled: 503,
  internal: 500,
  not_found: 404,
  unavailable: 500,
};

/** An error answered with `{"status":"error","errorType":type,"error":message}`. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly type: ApiErrorType,
    message: string,
    readonly warnings: readonly string[] = [],
  ) {
    super(message);
  }

  /** The HTTP status for this error. */
  get status(): number {
    return ERROR_STATUS[this.type];
  }
}

/** A bad request parameter, worded as Prometheus words it: `invalid parameter "name": reason`. */
export function invalidParam(name: string, reason: string): ApiError {
  return new ApiError("bad_data", `invalid parameter ${JSON.stringify(name)}: ${reason}`);
}
