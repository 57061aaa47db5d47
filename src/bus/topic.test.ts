import { describe, it } from 'node:test';
import fc from 'fast-check';
import { throwsWithCode } from '../../test/helpers.ts';
import { assertPattern, assertTopic, topicMatches } from './index.ts';

/** Reference matcher: a regular expression built from the pattern. */
function reference(pattern: string, topic: string): boolean {
  const source = pattern
    .split('.')
    .map((t) => (t === '*' ? '[^.]+' : t === '>' ? '[^.]+(\\.[^.]+)*' : t))
    .join('\\.');
  return new RegExp(`^${source}$`).test(topic);
}

describe('topics', () => {
  it('accepts dotted names and rejects empties, wildcards in topics, and MQTT/NATS specials', () => {
    assertTopic('agent.42.state_delta');
    assertPattern('agent.*.state_delta');
    assertPattern('agent.>');
    for (const bad of [
      '',
      'a..b',
      '.a',
      'a.',
      'a.*',
      'a.>',
      'a/b',
      'a+b',
      'a#',
      'a b',
      '$SYS',
      'x'.repeat(256),
    ]) {
      throwsWithCode(() => assertTopic(bad), 'INVALID_TOPIC');
    }
    for (const bad of ['a.>.b', 'a.**', 'a.b*', ''])
      throwsWithCode(() => assertPattern(bad), 'INVALID_TOPIC');
  });

  it('topicMatches agrees with a regular-expression reference', () => {
    const token = fc.constantFrom('a', 'b', 'c');
    const topic = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'));
    const pattern = fc
      .tuple(
        fc.array(fc.constantFrom('a', 'b', '*'), { minLength: 0, maxLength: 3 }),
        fc.constantFrom('a', '*', '>'),
      )
      .map(([head, last]) => [...head, last].join('.'));
    fc.assert(
      fc.property(pattern, topic, (p, t) => topicMatches(p, t) === reference(p, t)),
      { numRuns: 2_000 },
    );
  });
});
