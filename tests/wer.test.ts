/**
 * Word error rate: hand-counted alignments, the English normaliser, and the
 * empty-side edge cases.
 */
import { describe, expect, it } from 'vitest';
import { corpusWer, normalizeTranscript, wordErrorRate } from '../eval/wer.js';

const norm = (text: string): string => normalizeTranscript(text).join(' ');

describe('wordErrorRate', () => {
  it('is zero for identical transcripts, also after normalisation', () => {
    expect(wordErrorRate('the cat sat', 'the cat sat')).toEqual({ wer: 0, substitutions: 0, deletions: 0, insertions: 0, referenceWords: 3 });
    expect(wordErrorRate("Don't panic, it's 42!", 'do not panic it is forty two').wer).toBe(0);
  });

  it('counts one substitution', () => {
    expect(wordErrorRate('the cat sat on the mat', 'the cat sat on the hat')).toEqual({ wer: 1 / 6, substitutions: 1, deletions: 0, insertions: 0, referenceWords: 6 });
  });

  it('counts one deletion', () => {
    expect(wordErrorRate('the cat sat on the mat', 'the cat sat on mat')).toEqual({ wer: 1 / 6, substitutions: 0, deletions: 1, insertions: 0, referenceWords: 6 });
  });

  it('counts one insertion', () => {
    expect(wordErrorRate('the cat sat', 'the black cat sat')).toEqual({ wer: 1 / 3, substitutions: 0, deletions: 0, insertions: 1, referenceWords: 3 });
  });

  it('counts a mix of one substitution, one deletion and one insertion', () => {
    // quick→quack (S), fox deleted (D), today inserted (I); matches in between
    // anchor the alignment, so no other 3-edit path exists.
    const ref = 'the quick brown fox jumps over the lazy dog';
    const hyp = 'the quack brown jumps over the lazy dog today';
    expect(wordErrorRate(ref, hyp)).toEqual({ wer: 3 / 9, substitutions: 1, deletions: 1, insertions: 1, referenceWords: 9 });
  });

  it('counts two substitutions and two deletions', () => {
    // one→won (S), two deleted, three deleted, five→fife (S)
    expect(wordErrorRate('one two three four five', 'won four fife')).toEqual({ wer: 4 / 5, substitutions: 2, deletions: 2, insertions: 0, referenceWords: 5 });
  });

  it('can exceed 1 when the hypothesis is much longer', () => {
    // "hi" matches the first word; the other four are insertions.
    expect(wordErrorRate('hi', 'hi there how are you')).toEqual({ wer: 4, substitutions: 0, deletions: 0, insertions: 4, referenceWords: 1 });
  });

  it('treats an empty hypothesis as all deletions', () => {
    expect(wordErrorRate('one two three', '')).toEqual({ wer: 1, substitutions: 0, deletions: 3, insertions: 0, referenceWords: 3 });
    expect(wordErrorRate('one two three', ' ...! ').deletions).toBe(3);
  });

  it('gives 0 for two empty transcripts and 1 for words against an empty reference', () => {
    expect(wordErrorRate('', '')).toEqual({ wer: 0, substitutions: 0, deletions: 0, insertions: 0, referenceWords: 0 });
    expect(wordErrorRate('  ', 'hello there')).toEqual({ wer: 1, substitutions: 0, deletions: 0, insertions: 2, referenceWords: 0 });
  });
});

describe('corpusWer', () => {
  it('sums errors over reference words instead of averaging per-utterance rates', () => {
    const result = corpusWer([
      { reference: 'a b', hypothesis: 'a c' }, // 1 S over 2 words (rate 0.5)
      { reference: 'one two three four five six seven eight', hypothesis: 'one two three four five six seven eight' }, // 0 over 8
    ]);
    expect(result).toEqual({ wer: 1 / 10, substitutions: 1, deletions: 0, insertions: 0, referenceWords: 10 });
    // The mean of rates would be 0.25: the sum is what is reported.
    expect(result.wer).not.toBe(0.25);
  });

  it('handles an empty corpus and empty references', () => {
    expect(corpusWer([])).toEqual({ wer: 0, substitutions: 0, deletions: 0, insertions: 0, referenceWords: 0 });
    expect(corpusWer([{ reference: '', hypothesis: 'x' }, { reference: 'a b', hypothesis: 'a b' }])).toEqual({ wer: 1 / 2, substitutions: 0, deletions: 0, insertions: 1, referenceWords: 2 });
  });
});

describe('normalizeTranscript', () => {
  it('lower-cases, strips punctuation, keeps apostrophes inside words, collapses whitespace', () => {
    expect(normalizeTranscript('  Hello,   World!  How   are you?\n')).toEqual(['hello', 'world', 'how', 'are', 'you']);
    expect(norm("John's dog's \"quoted\" 'edge' o'clock")).toBe("john's dog's quoted edge o'clock");
    expect(norm('It\u2019s Bob\u2019s')).toBe("it is bob's");
    expect(normalizeTranscript(' ?! ... ')).toEqual([]);
  });

  it('splits hyphenated words and dashes', () => {
    expect(norm('well-known state-of-the-art')).toBe('well known state of the art');
    expect(norm('forty-two')).toBe('forty two');
    expect(norm('yes\u2014no / maybe')).toBe('yes no maybe');
  });

  it('expands contractions the same way on both sides', () => {
    expect(norm("don't")).toBe('do not');
    expect(norm("it's")).toBe('it is');
    expect(norm("I'm")).toBe('i am');
    expect(norm("we're")).toBe('we are');
    expect(norm("they've")).toBe('they have');
    expect(norm("can't")).toBe('can not');
    expect(norm('cannot')).toBe('can not');
    expect(norm("won't")).toBe('will not');
    expect(norm("shouldn't isn't")).toBe('should not is not');
    expect(norm("you'll she'd")).toBe('you will she would');
    expect(norm("let's")).toBe('let us');
    expect(wordErrorRate("We can't, they won't", 'we cannot they will not').wer).toBe(0);
  });

  it('spells out numbers', () => {
    expect(norm('42')).toBe('forty two');
    expect(norm('7 13 100 105 1,234,567')).toBe('seven thirteen one hundred one hundred five one million two hundred thirty four thousand five hundred sixty seven');
    expect(norm('0 10,000')).toBe('zero ten thousand');
    expect(norm('3.14')).toBe('three point one four');
  });

  it('reads four-digit numbers as years', () => {
    expect(norm('1999')).toBe('nineteen ninety nine');
    expect(norm('1905 1900 2024')).toBe('nineteen oh five nineteen hundred twenty twenty four');
    expect(norm('2000 2007')).toBe('two thousand two thousand seven');
    expect(norm('the 1990s')).toBe('the nineteen nineties');
  });

  it('spells out ordinals, currency and percentages', () => {
    expect(norm('3rd')).toBe('third');
    expect(norm('1st 2nd 12th 21st 40th 100th')).toBe('first second twelfth twenty first fortieth one hundredth');
    expect(norm('$5')).toBe('five dollars');
    expect(norm('$1 $5.50 $0.99')).toBe('one dollar five dollars fifty cents ninety nine cents');
    expect(norm('$2 million')).toBe('two million dollars');
    expect(norm('50%')).toBe('fifty percent');
    expect(norm('2.5 %')).toBe('two point five percent');
  });

  it('drops "and" inside spelled numbers so both written forms agree', () => {
    expect(norm('one hundred and five')).toBe(norm('105'));
    expect(norm('rock and roll')).toBe('rock and roll');
  });
});
