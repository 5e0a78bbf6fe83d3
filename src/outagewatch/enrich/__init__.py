"""outagewatch.enrich"""
