/** @hutch/sdk: a typed client for a Hutch server. */
export { AuthenticationError, CapacityRejectedError, errorFromBody, errorFromResponse, HutchApiError, InvalidTransitionError, NotFoundError, TimeoutError } from './errors.js';
