"""outagewatch.backfill"""
