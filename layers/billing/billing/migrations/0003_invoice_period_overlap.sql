-- Two live invoices of one customer never cover the same day, even when two different periods race.
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE invoices ADD CONSTRAINT invoices_no_overlap
    EXCLUDE USING gist (user_id WITH =, daterange(period_start, period_end, '[]') WITH &&)
    WHERE (status <> 'CANCELLED');
