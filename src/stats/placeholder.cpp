// Placeholder so greentrain_stats builds before its first real source file; delete it then.
