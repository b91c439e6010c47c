// The admin API's routes as types, derived from the generated `openapi.d.ts` (itself
// generated from /api/openapi.json): which paths take which methods, what each answers and
// what body it takes. `api()` in api.js is typed with these, so `tsc` (npm run check)
// refuses a call the document does not describe.

import type { paths } from './openapi';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

type Template = keyof paths & string;

/** The operation behind a route template and method (never when there is none). */
type Operation<T extends Template, M extends Method> = NonNullable<
  paths[T][Lowercase<M> & keyof paths[T]]
>;

/** The route templates that take `M`. */
type TemplatesFor<M extends Method> = {
  [T in Template]: [Operation<T, M>] extends [never] ? never : T;
}[Template];

/** `/api/v1/webhooks/{webhookId}` → `/api/v1/webhooks/${string}`. */
type Concrete<T extends string> = T extends `${infer Head}{${string}}${infer Tail}`
  ? `${Head}${string}${Concrete<Tail>}`
  : T;

/** Every path a call with `M` may name, with or without a query string. */
export type ApiPath<M extends Method> =
  | Concrete<TemplatesFor<M>>
  | `${Concrete<TemplatesFor<M>>}?${string}`;

type Bare<P extends string> = P extends `${infer Path}?${string}` ? Path : P;

type Split<S extends string> = S extends `${infer Head}/${infer Tail}` ? [Head, ...Split<Tail>] : [S];

/** Segment by segment: a `{parameter}` takes any one segment, any other must be equal. */
type Fits<P extends string[], T extends string[]> = P extends [
  infer PH extends string,
  ...infer PR extends string[],
]
  ? T extends [infer TH extends string, ...infer TR extends string[]]
    ? TH extends `{${string}}`
      ? Fits<PR, TR>
      : PH extends TH
        ? Fits<PR, TR>
        : false
    : false
  : T extends []
    ? true
    : false;

/** The templates a concrete path matches (a static segment and a parameter may both). */
type TemplateOf<M extends Method, P extends string> = P extends string
  ? {
      [T in TemplatesFor<M>]: Fits<Split<Bare<P>>, Split<T>> extends true ? T : never;
    }[TemplatesFor<M>]
  : never;

/** The paths among `P` some route takes with `M`: a call naming any other does not compile. */
export type Routed<M extends Method, P extends string> = P extends string
  ? [TemplateOf<M, P>] extends [never]
    ? never
    : P
  : never;

type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : null;

type Success<Op> = Op extends { responses: infer R }
  ? JsonOf<R[200 & keyof R]> | JsonOf<R[201 & keyof R]> | JsonOf<R[202 & keyof R]> |
    (204 extends keyof R ? null : never)
  : never;

/** What a successful call answers (null for 204). */
export type ApiResponse<M extends Method, P extends string> = Success<
  Operation<TemplateOf<M, P>, M>
>;

/** The JSON body a call takes (never when it takes none). */
export type ApiBody<M extends Method, P extends string> = Operation<TemplateOf<M, P>, M> extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

export interface ApiOptions<M extends Method, P extends string> {
  body?: ApiBody<M, P>;
  /** The tenant a platform admin acts for (X-Tenant-Id). */
  tenant?: string | null;
}
