"""Loading the policy file and deciding with it."""
