"""The purpose monitor: uses and disclosures decided against the policy with consent and suspension state."""
