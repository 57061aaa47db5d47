import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rejectsWithCode, throwsWithCode } from '../../test/helpers.ts';
import { AbortedError } from '../errors/index.ts';
import { CircuitBreaker, type CircuitStateChange } from './circuit-breaker.ts';

function setup(options: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}) {
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const breaker = new CircuitBreaker({
    name: 'vendor',
    slidingWindowSize: 10,
    minimumNumberOfCalls: 10,
    waitDurationInOpenStateMs: 5_000,
    permittedNumberOfCallsInHalfOpenState: 3,
    ...options,
    now: () => now,
  });
  const changes: CircuitStateChange[] = [];
  breaker.events.on('stateChange', (e) => changes.push(e));
  const ok = () => breaker.success(breaker.acquire());
  const fail = () => breaker.failure(breaker.acquire(), new Error('500'));
  return { breaker, clock, changes, ok, fail };
}

describe('CircuitBreaker', () => {
  it('judges the failure rate only once the window has the minimum calls, then opens at the threshold', () => {
    const { breaker, fail, ok, changes } = setup();
    for (let i = 0; i < 6; i++) fail();
    assert.equal(breaker.state, 'closed', '6 calls < minimum 10');
    for (let i = 0; i < 3; i++) ok();
    assert.equal(breaker.state, 'closed');
    ok(); // 10 calls, 6 failed: 60% >= 50%
    assert.equal(breaker.state, 'open');
    assert.deepEqual(
      changes.map((c) => [c.from, c.to, c.failureRate]),
      [['closed', 'open', 60]],
    );
  });

  it('refuses calls while open without running them, then lets a limited number of trials through', async () => {
    const { breaker, clock, fail, ok, changes } = setup();
    for (let i = 0; i < 10; i++) fail();
    let ran = 0;
    const error = await rejectsWithCode(
      breaker.execute(async () => ran++),
      'CIRCUIT_OPEN',
    );
    assert.equal(ran, 0);
    assert.equal(error.details?.retryAfterMs, 5_000);
    assert.equal(breaker.rejected, 1);
    clock.advance(5_000);
    assert.equal(breaker.state, 'half-open');
    const trials = [breaker.acquire(), breaker.acquire(), breaker.acquire()];
    throwsWithCode(() => breaker.acquire(), 'CIRCUIT_OPEN');
    for (const t of trials) breaker.success(t);
    assert.equal(breaker.state, 'closed');
    ok();
    assert.deepEqual(
      changes.map((c) => c.to),
      ['open', 'half-open', 'closed'],
    );
  });

  it('re-opens when the half-open trials fail at the threshold', () => {
    const { breaker, clock, fail } = setup();
    for (let i = 0; i < 10; i++) fail();
    clock.advance(5_000);
    breaker.success(breaker.acquire());
    fail();
    fail(); // 2 of 3 trials failed: 67%
    assert.equal(breaker.state, 'open');
  });

  it('counts slow calls against their own threshold', () => {
    const { breaker, clock } = setup({ slowCallDurationThresholdMs: 100, slowCallRateThreshold: 50 });
    for (let i = 0; i < 10; i++) {
      const t = breaker.acquire();
      clock.advance(i < 5 ? 150 : 10);
      breaker.success(t);
    }
    assert.equal(breaker.state, 'open');
  });

  it('a time window forgets calls older than its seconds', () => {
    const { breaker, clock, fail, ok } = setup({
      slidingWindowType: 'time',
      slidingWindowSize: 2,
      minimumNumberOfCalls: 4,
    });
    fail();
    fail();
    fail();
    clock.advance(3_000); // those slid out
    ok();
    ok();
    ok();
    fail();
    assert.equal(breaker.state, 'closed', '1 of 4 in the window failed');
    fail();
    fail();
    assert.equal(breaker.state, 'open', '3 of 6');
  });

  it('does not count aborts or rate-limit refusals as failures', () => {
    const { breaker } = setup();
    for (let i = 0; i < 10; i++) breaker.failure(breaker.acquire(), new AbortedError());
    assert.equal(breaker.state, 'closed');
  });

  it('an aborted trial counts as neither success nor failure and frees its slot', () => {
    const { breaker, clock, fail, ok } = setup();
    for (let i = 0; i < 10; i++) fail();
    clock.advance(5_000);
    const trials = [breaker.acquire(), breaker.acquire(), breaker.acquire()];
    for (const t of trials) breaker.failure(t, new AbortedError());
    assert.equal(breaker.state, 'half-open', 'aborted trials did not close it');
    ok();
    ok();
    assert.equal(breaker.state, 'half-open', 'two of three trials judged so far');
    const third = breaker.acquire(); // the aborted trials' slots were given back
    breaker.failure(third, Object.assign(new Error('cancelled'), { name: 'AbortError' }));
    assert.equal(breaker.state, 'half-open');
    fail();
    assert.equal(breaker.state, 'closed', '2 of 3 trials succeeded: 33% < 50%');
  });

  it('a call admitted while closed that ends after the circuit half-opened is not a trial', () => {
    const { breaker, clock, fail, ok } = setup();
    const early = [breaker.acquire(), breaker.acquire()];
    for (let i = 0; i < 10; i++) fail();
    assert.equal(breaker.state, 'open');
    clock.advance(5_000);
    assert.equal(breaker.state, 'half-open');
    breaker.success(early[0]!);
    breaker.failure(early[1]!, new Error('500'));
    ok();
    ok();
    assert.equal(breaker.state, 'half-open', 'only two real trials have ended');
    ok();
    assert.equal(breaker.state, 'closed');
  });

  it('a trial still running after halfOpenTrialTimeoutMs counts as a failure and reopens the circuit', () => {
    const { breaker, clock, fail, ok, changes } = setup({
      permittedNumberOfCallsInHalfOpenState: 2,
      halfOpenTrialTimeoutMs: 1_000,
    });
    for (let i = 0; i < 10; i++) fail();
    clock.advance(5_000);
    ok();
    const hung = breaker.acquire();
    throwsWithCode(() => breaker.acquire(), 'CIRCUIT_OPEN');
    clock.advance(999);
    assert.equal(breaker.state, 'half-open');
    clock.advance(1);
    assert.equal(breaker.state, 'open', 'the hung trial failed: 1 of 2');
    assert.deepEqual(
      changes.map((c) => [c.to, c.failureRate]),
      [
        ['open', 100],
        ['half-open', undefined],
        ['open', 50],
      ],
    );
    clock.advance(5_000);
    assert.equal(breaker.state, 'half-open');
    breaker.success(hung); // ends at last, in a later half-open: not one of its trials
    ok();
    assert.equal(breaker.state, 'half-open', 'one of two new trials has ended');
    ok();
    assert.equal(breaker.state, 'closed');
  });

  it('the hung-trial bound defaults to the slow-call threshold', () => {
    const { breaker, clock, fail } = setup({
      permittedNumberOfCallsInHalfOpenState: 1,
      slowCallDurationThresholdMs: 300,
    });
    for (let i = 0; i < 10; i++) fail();
    clock.advance(5_000);
    breaker.acquire();
    clock.advance(300);
    assert.equal(breaker.state, 'open');
  });

  it('refuses bad options naming the value', () => {
    throwsWithCode(() => new CircuitBreaker({ name: 'x', failureRateThreshold: 150 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new CircuitBreaker({ name: 'x', slidingWindowSize: -1 }), 'INVALID_OPTIONS');
    throwsWithCode(() => new CircuitBreaker({ name: 'x', waitDurationInOpenStateMs: 0 }), 'INVALID_OPTIONS');
  });
});
