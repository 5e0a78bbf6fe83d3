"""outagewatch.serve"""
