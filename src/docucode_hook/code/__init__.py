"""Reading Python: the one definition walker, each definition's context record, and the facts its prose may use."""
