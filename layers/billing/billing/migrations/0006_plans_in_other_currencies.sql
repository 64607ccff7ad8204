-- A plan has one currency and a customer pays in their plan's: the BASIC and PREMIUM tiers in USD, GBP, CHF
-- and JPY (JPY has no minor unit: amounts are whole yen). Editable rows, like the EUR plans.
INSERT INTO plans (code, name, currency, monthly_fee_minor, yearly_fee_minor, included_requests, overage_per_1000_minor) VALUES
    ('BASIC_USD',   'Basic',   'USD',  1000,  10000,  10000, 55),
    ('PREMIUM_USD', 'Premium', 'USD',  5400,  54000, 100000, 33),
    ('BASIC_GBP',   'Basic',   'GBP',   800,   8000,  10000, 45),
    ('PREMIUM_GBP', 'Premium', 'GBP',  4200,  42000, 100000, 26),
    ('BASIC_CHF',   'Basic',   'CHF',   900,   9000,  10000, 50),
    ('PREMIUM_CHF', 'Premium', 'CHF',  4900,  49000, 100000, 30),
    ('BASIC_JPY',   'Basic',   'JPY',  1500,  15000,  10000, 80),
    ('PREMIUM_JPY', 'Premium', 'JPY',  8000,  80000, 100000, 50)
ON CONFLICT (code) DO NOTHING;
