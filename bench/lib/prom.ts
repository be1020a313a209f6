/** Sum of the samples of `name` (exact metric name, any labels containing `labels`) in Prometheus text. */
export function promSum(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Mean of a histogram between two scrapes (`_sum` / `_count` differences), NaN without observations. */
export function promMeanBetween(before: string, after: string, name: string, labels = ''): number {
  const d = (suffix: string) =>
    promSum(after, name + suffix, labels) - promSum(before, name + suffix, labels);
  return d('_sum') / d('_count');
}
