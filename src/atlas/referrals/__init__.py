"""Referral codes, the referral relation and its tree."""
