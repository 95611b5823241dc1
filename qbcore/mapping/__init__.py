"""Pure mapping: billing rows + settings + known QuickBooks ids → QuickBooks JSON dicts."""
