import type { Response } from 'express';

/** Sets the headers of a CSV download; called once access has been checked. */
export function csvHeaders(res: Response, filename: string): () => void {
  return () => {
    res.status(200);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(filename)}`,
    );
    res.setHeader('Cache-Control', 'no-store');
  };
}

/**
 * Runs a streaming export. Errors before the first byte reach the exception filter as usual;
 * after it (client gone, database error mid-way) the response can only be cut short.
 */
export async function runCsv(res: Response, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!res.headersSent) throw err;
    res.destroy(err as Error);
  }
}
