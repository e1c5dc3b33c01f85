"""The site model: what one site file says, with every value's file:line."""
