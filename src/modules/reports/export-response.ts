import type { Response } from 'express';
import type { ExportFormat } from './reports.types';
import { XLSX_TYPE } from './xlsx';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: XLSX_TYPE,
};

/** Sets the headers of a download; called once access has been checked. */
export function downloadHeaders(res: Response, filename: string, format: ExportFormat): () => void {
  return () => {
    res.status(200);
    res.setHeader('Content-Type', EXPORT_CONTENT_TYPES[format]);
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(filename)}`,
    );
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
  };
}

/**
 * Runs a streaming export. Errors before the first byte reach the exception filter as usual;
 * after it (client gone, database error mid-way) the response can only be cut short.
 */
export async function runExport(res: Response, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!res.headersSent) throw err;
    res.destroy(err as Error);
  }
}
