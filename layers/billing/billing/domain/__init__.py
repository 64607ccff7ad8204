"""Pure billing rules: money, periods, pricing, tax, numbering, status machine. No drivers here."""
