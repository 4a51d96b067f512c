/** Maps engine and storage errors to the HTTP API's error types, as Prometheus' `returnAPIError`. */
import { QueryError } from "../../promql/value.ts";
import { StoreQueryError, UnsupportedDataError } from "../errors.ts";
import { ApiError } from "./errors.ts";

/** The API error for `err`, or undefined when it is not one the querier knows (→ `internal`). */
export function classifyQueryError(err: unknown): ApiError | undefined {
  if (err instanceof QueryError) return new ApiError(err.kind, err.message);
  if (err instanceof UnsupportedDataError) return new ApiError("execution", err.message);
  if (err instanceof StoreQueryError) return new ApiError("internal", err.message);
  return undefined;
}
