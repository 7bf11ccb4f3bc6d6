"""The pizza shop: order a pizza, wait until the shop says it is ready, deliver it."""
