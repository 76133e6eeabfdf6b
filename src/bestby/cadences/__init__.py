"""Cadences: planned persistence (at least six touches in ten business days), with adherence measured."""
