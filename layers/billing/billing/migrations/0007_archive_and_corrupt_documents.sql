-- Archival moves an issued invoice's PDF under archive/; a stored PDF that fails its checks is flagged, never accepted.
ALTER TABLE invoices ADD COLUMN archived_at timestamptz, ADD COLUMN pdf_corrupt_at timestamptz;
CREATE INDEX invoices_to_archive ON invoices (issue_date) WHERE archived_at IS NULL AND number IS NOT NULL;
CREATE INDEX invoices_unrecorded ON invoices (issued_at) WHERE document_recorded_at IS NULL AND number IS NOT NULL;
