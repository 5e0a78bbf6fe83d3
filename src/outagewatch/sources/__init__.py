"""outagewatch.sources"""
