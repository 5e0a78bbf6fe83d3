"""outagewatch.store"""
