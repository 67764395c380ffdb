import { describe, expect, it } from 'vitest';
import { pipelineJitFlag, PIPELINE_INTERRUPT_BUDGET, tuneJitForPipeline } from './jit-tuning.js';

describe('pipelineJitFlag', () => {
  it('raises the interrupt budget when node was started without one', () => {
    expect(pipelineJitFlag([])).toBe(`--interrupt-budget=${PIPELINE_INTERRUPT_BUDGET}`);
    expect(pipelineJitFlag(['--max-old-space-size=4096', '--interrupt-budget-for-feedback-allocation=100'])).toBe(
      `--interrupt-budget=${PIPELINE_INTERRUPT_BUDGET}`,
    );
    expect(PIPELINE_INTERRUPT_BUDGET).toBeGreaterThan(67_584); // Node 20's default: the point is a larger one
  });

  it("leaves a budget given on node's command line alone, however it is spelled", () => {
    expect(pipelineJitFlag(['--interrupt-budget=1000'])).toBeNull();
    expect(pipelineJitFlag(['--interrupt_budget=1000'])).toBeNull();
    expect(pipelineJitFlag(['--interrupt-budget', '1000'])).toBeNull();
  });
});

describe('tuneJitForPipeline', () => {
  it('sets the flag once', () => {
    // This test file's process may already have built a pipeline elsewhere; either way a second
    // call never sets the flag again.
    tuneJitForPipeline([]);
    expect(tuneJitForPipeline([])).toBe(false);
  });
});
