/** One replacement made in a text before it was parsed: where it was, and where its result went. */
export interface TextEdit {
  original: number;
  originalLength: number;
  substituted: number;
  substitutedLength: number;
}

/**
 * Maps an offset in the edited text back to the text as written (edits in order), so positions
 * reported to the operator are those they wrote; an offset inside a replacement maps to its start.
 */
export function originalOffsetThrough(edits: readonly TextEdit[]): (offset: number) => number {
  return (position) => {
    let delta = 0;
    for (const edit of edits) {
      if (position < edit.substituted) break;
      if (position < edit.substituted + edit.substitutedLength) return edit.original;
      delta = edit.original + edit.originalLength - (edit.substituted + edit.substitutedLength);
    }
    return position + delta;
  };
}
