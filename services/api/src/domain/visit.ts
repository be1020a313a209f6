import type { CheckKind, VisitDefaults } from '@hes/core';
import { ApiProblem } from './problem.js';

export interface VisitInput {
  city: string;
  district: string;
  address: string;
  latitude?: number | undefined;
  longitude?: number | undefined;
}

/** What is stored in checks.visit and sent upstream by the worker (check-visitor-hes-code). */
export interface Visit {
  city: string;
  district: string;
  address: string;
  latitude: number | null;
  longitude: number | null;
}

/**
 * The visit location of a check: the caller's for `visitor`, else the institution's default
 * (HES_VISIT_*). Other kinds have no visit; sending one is rejected rather than silently dropped, so a
 * caller who meant `visitor` learns it at once.
 */
export function resolveVisit(
  kind: CheckKind,
  input: VisitInput | undefined,
  defaults: VisitDefaults | null,
): Visit | null {
  if (kind !== 'visitor') {
    if (input !== undefined) {
      throw new ApiProblem('VALIDATION_FAILED', {
        detail: 'visit is only accepted with kind "visitor"',
        errors: [{ path: '/visit', in: 'body', message: 'is only allowed when kind is "visitor"' }],
      });
    }
    return null;
  }
  if (input) {
    if ((input.latitude === undefined) !== (input.longitude === undefined)) {
      throw new ApiProblem('VALIDATION_FAILED', {
        detail: 'latitude and longitude go together',
        errors: [
          {
            path: input.latitude === undefined ? '/visit/latitude' : '/visit/longitude',
            in: 'body',
            message: 'is required with the other coordinate',
          },
        ],
      });
    }
    return {
      city: input.city.trim(),
      district: input.district.trim(),
      address: input.address.trim(),
      latitude: input.latitude ?? null,
      longitude: input.longitude ?? null,
    };
  }
  if (defaults) return { ...defaults };
  throw new ApiProblem('VISIT_REQUIRED', {
    detail:
      'kind "visitor" needs a visit {city, district, address}; no default visit location (HES_VISIT_*) is configured',
  });
}
