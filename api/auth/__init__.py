"""Identity and permissions: who is calling and what they may see."""
