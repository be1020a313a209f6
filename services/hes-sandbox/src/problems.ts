/**
 * Error bodies. The Ministry's service is a Java (Spring/JHipster) application: its errors are JSON
 * "problem" bodies; its gateway's 5xx pages are HTML. The sandbox copies both shapes.
 */
export interface ProblemBody {
  title: string;
  status: number;
  detail?: string;
  path?: string;
  errorKey?: string;
  message?: string;
  params?: string[];
  fieldErrors?: { objectName: string; field: string; message: string }[];
  [extra: string]: unknown;
}

export const unauthorized = (path: string): ProblemBody => ({
  type: 'https://www.jhipster.tech/problem/problem-with-message',
  title: 'Unauthorized',
  status: 401,
  detail: 'Full authentication is required to access this resource',
  path,
  message: 'error.http.401',
});

export const tooManyRequests = (path: string, retryAfterSeconds: number): ProblemBody => ({
  title: 'Too Many Requests',
  status: 429,
  detail: `Rate limit exceeded; retry after ${retryAfterSeconds} s`,
  path,
  errorKey: 'ratelimit.exceeded',
  message: 'error.http.429',
});

export const badRequest = (path: string, detail: string, errorKey = 'error.http.400'): ProblemBody => ({
  title: 'Bad Request',
  status: 400,
  detail,
  path,
  errorKey,
  message: 'error.http.400',
  params: [],
});

/** A request-shape error naming the offending field (bean validation in the original). */
export const validationError = (
  path: string,
  objectName: string,
  field: string,
  message: string,
): ProblemBody => ({
  errorKey: 'validation.error',
  title: 'Bad Request',
  status: 400,
  detail: `${field}: ${message}`,
  path,
  message: 'error.validation',
  params: [field],
  fieldErrors: [{ objectName, field, message }],
});

export const bulkLimitExceeded = (path: string, max: number, got: number): ProblemBody => ({
  errorKey: 'hescodes.limit.exceeded',
  title: 'Bad Request',
  status: 400,
  detail: `At most ${max} HES codes per request; got ${got}`,
  path,
  message: 'error.hescodes.limit.exceeded',
  params: [String(max)],
});

export const notFound = (method: string, path: string): ProblemBody => ({
  title: 'Not Found',
  status: 404,
  detail: `No endpoint ${method} ${path}`,
  path,
  message: 'error.http.404',
});

export const methodNotAllowed = (method: string, path: string): ProblemBody => ({
  title: 'Method Not Allowed',
  status: 405,
  detail: `Request method '${method}' not supported`,
  path,
  message: 'error.http.405',
});

export const payloadTooLarge = (path: string): ProblemBody => ({
  title: 'Payload Too Large',
  status: 413,
  path,
  message: 'error.http.413',
});

export const internalError = (path: string): ProblemBody => ({
  title: 'Internal Server Error',
  status: 500,
  path,
  message: 'error.http.500',
});

const GATEWAY_TEXT: Record<number, string> = {
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

/** The kind of page a reverse proxy in front of the Ministry answers with when the backend fails. */
export function gatewayErrorPage(status: number): string {
  const text = `${status} ${GATEWAY_TEXT[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${text}</title></head>\r\n<body>\r\n<center><h1>${text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}
