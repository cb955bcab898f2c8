"""Money moving between wallets: transfers, shop payments, quotes and confirms, limits, freeze,
history and statements."""
