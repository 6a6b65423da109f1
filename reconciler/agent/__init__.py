"""The node agent (`hactl agent --node NAME`): membership, leadership, reconciliation."""
