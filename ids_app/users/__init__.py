"""Users, roles, sign-in, electronic signatures and permissions."""
