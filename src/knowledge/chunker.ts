/** A piece of a document, sized for retrieval. */
export interface Chunk {
  /** 0-based position in the document. */
  index: number;
  text: string;
}

/** Options of `chunkText`. */
export interface ChunkOptions {
  /** Largest chunk, in characters. Default 800. */
  maxChars?: number;
  /** Characters repeated from the end of one chunk at the start of the next. Default 100. */
  overlapChars?: number;
}

/** Sentence ends in Latin and CJK text (。!?;and their ASCII forms), kept with their sentence. */
const SENTENCE = /[^.!?。!?;;\n]+[.!?。!?;;]*\s*/gu;

/**
 * Splits a document by structure first (blank lines, Markdown headings), then packs the
 * paragraphs, or their sentences when one is too long, into chunks of at most `maxChars`;
 * a sentence longer than that is cut. Chinese and Japanese text splits at 。!?; as English
 * does at . ! ?.
 */
export function chunkText(text: string, options: ChunkOptions = {}): Chunk[] {
  const max = options.maxChars ?? 800;
  const overlap = Math.min(options.overlapChars ?? 100, Math.floor(max / 2));
  const paragraphs = text
    .split(/\n\s*\n|(?=^#{1,6}\s)/mu)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const pieces: string[] = [];
  for (const p of paragraphs) {
    if (p.length <= max) {
      pieces.push(p);
      continue;
    }
    for (const sentence of p.match(SENTENCE) ?? [p]) {
      const s = sentence.trim();
      for (let i = 0; i < s.length; i += max) pieces.push(s.slice(i, i + max));
    }
  }
  const chunks: Chunk[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current.length > 0 && current.length + 1 + piece.length > max) {
      chunks.push({ index: chunks.length, text: current });
      const tail = overlap > 0 ? current.slice(-overlap) : '';
      current = tail.length + 1 + piece.length <= max ? `${tail} ${piece}`.trim() : piece;
    } else current = current.length === 0 ? piece : `${current}\n${piece}`;
  }
  if (current.length > 0) chunks.push({ index: chunks.length, text: current });
  return chunks;
}
