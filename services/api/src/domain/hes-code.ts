// Moved to @hes/core (the worker's roster runs normalise codes the same way); kept for existing imports.
export { type IntakeCode, intakeCode, maskMalformed } from '@hes/core';
