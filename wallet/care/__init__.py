"""Care: what the wallet does when something went wrong with a user's money --
their tickets (complaints about a transaction, with a deadline and a
timeline). It sits above the capabilities it looks into (banks' answers,
shops' disputes, transfers) and below the composition root."""
