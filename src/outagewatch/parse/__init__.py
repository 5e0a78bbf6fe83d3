"""outagewatch.parse"""
