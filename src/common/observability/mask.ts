/** Masks phone numbers in free text (provider error messages) before it reaches a log: +86138****0004. */
export function maskPhones(text: string): string {
  return text.replace(/\+?\d[\d -]{6,}\d/g, (m) => {
    const digits = m.replace(/[^\d+]/g, '');
    return digits.length < 8 ? m : `${digits.slice(0, 6)}****${digits.slice(-4)}`;
  });
}
