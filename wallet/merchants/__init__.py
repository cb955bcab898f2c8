"""Shops' integration: API keys, payment requests, refunds, webhooks to shops' servers, reports."""
