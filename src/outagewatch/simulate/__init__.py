"""outagewatch.simulate"""
