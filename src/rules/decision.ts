/** What a rule engine decides: the chosen value, why, how sure (0–1), and which rule fired. */
export interface Decision<V> {
  value: V;
  reason: string;
  confidence: number;
  rule: string;
}
